"""Clients for arXiv's three endpoints: the announcement feed, the export API and HTML pages."""
