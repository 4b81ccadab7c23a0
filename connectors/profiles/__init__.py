"""Built-in meter profiles (YAML data) and their loader."""
