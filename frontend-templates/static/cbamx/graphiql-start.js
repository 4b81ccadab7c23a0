// Starts GraphiQL against this page's own URL (/graphql).
// A log-in on the start page keeps the session's CSRF token in sessionStorage; GraphiQL sends it
// with every POST, as cbamx asks of any request that carries the session cookie. A machine token
// goes into the Headers pane instead: {"Authorization": "Bearer …"}.
(function () {
  "use strict";
  var headers = {};
  var csrf = window.sessionStorage.getItem("cbamx.csrf");
  if (csrf) {
    headers["X-CSRF-Token"] = csrf;
  }
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname, headers: headers });
  var start = [
    "# cbamx GraphQL. Run with Ctrl-Enter; the Docs pane lists every type (after log-in).",
    "{",
    "  viewer { kind label role scopes organization { id name slug } }",
    "  installations(first: 5) { nodes { id name country } }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: start,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    })
  );
})();
