"""The close package: one period's books as a self-contained HTML file and an XLSX workbook."""
