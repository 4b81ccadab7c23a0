"""Protocol drivers: each turns a configured device into readings."""
