// A small web server on Node's built-in http module: no packages to install.
// It listens on process.env.PORT (a TCP port or, inside Codeloft's sandbox, a Unix socket path).
// Links are relative, so the page also works under the preview's address.
const http = require("http");

const routes = {
  "/": (req, res) => send(res, 200, "text/html", "<h1>Hello from Codeloft!</h1><p>Try <a href=\"api/time\">api/time</a>.</p>"),
  "/api/time": (req, res) => send(res, 200, "application/json", JSON.stringify({ now: new Date().toISOString() })),
};

function send(res, status, type, body) {
  res.writeHead(status, { "Content-Type": `${type}; charset=utf-8` });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const route = routes[new URL(req.url, "http://localhost").pathname];
  if (route) route(req, res);
  else send(res, 404, "text/plain", "Not found");
});

const port = process.env.PORT || 3000;
server.listen(port, () => console.log(`Listening on ${port}`));
