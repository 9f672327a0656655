"""Reports for people: figures (matplotlib) and summaries. A face layer: may import everything."""
