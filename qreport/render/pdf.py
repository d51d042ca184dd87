"""PDF via WeasyPrint, sandboxed: arrives with the PDF issue."""
