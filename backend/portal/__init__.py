"""Pages served to browsers: the start page, GraphiQL and the REST reference, with their assets."""
