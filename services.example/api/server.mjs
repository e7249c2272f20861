// An example HTTP service using svkit's client library: it tells svrun it is
// ready once listening (notification-fd 3), tracks every request as a
// session, and on a stop lets running requests finish, then closes the server.
// `import ... from 'svkit'` resolves through the package's self-reference;
// svkit is not on the npm registry: your own project installs it from a git
// URL or a checkout (docs/client.md, "Installing").
import { createServer } from 'node:http';
import { onShutdown, ready, session } from 'svkit';

const port = Number(process.env.PORT ?? 8080);

/** GET / answers at once; GET /slow?ms=N takes N ms (default 1000), to watch a stop wait for it. */
const handle = async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello from api\n');
  } else if (url.pathname === '/slow') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders();
    await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? 1000)));
    res.end('slow hello from api\n');
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }
};

const server = createServer((req, res) => {
  const started = Date.now();
  session(`${req.method} ${req.url}`, () => handle(req, res))
    .then(() => console.log(`api: ${req.method} ${req.url} ${res.statusCode} (${Date.now() - started} ms)`))
    .catch((err) => {
      if (err?.code === 'svkit.shutdown') {
        // Stopping: refuse new work; a load balancer or client retries elsewhere.
        res.writeHead(503, { connection: 'close', 'retry-after': '1' });
        res.end('shutting down\n');
        return;
      }
      console.error(`api: ${req.method} ${req.url}: ${err?.message ?? err}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
});

// Runs after every running request (session) has finished.
onShutdown(function closeServer() {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`api: listening on http://127.0.0.1:${server.address().port}`);
  ready();
});
