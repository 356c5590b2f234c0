"""Config uploader: keeps every router config upload, diffs it, redacts it, reports drift."""
