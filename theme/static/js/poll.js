// Voting in place on article pages. Progressive enhancement: without this file
// the poll form still works through the service's own pages.
