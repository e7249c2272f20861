// The container's main command (CMD): an HTTP server. svctl boot starts it once
// every service is ready, and stops it first (SIGTERM) when the container stops.
// It is not under svrun, so onShutdown uses its defaults: SIGTERM or SIGINT, 5 s.
import { createServer } from 'node:http';
import { onShutdown, session } from 'svkit';

const port = Number(process.env.PORT ?? 8080);

const server = createServer((req, res) => {
  session(`${req.method} ${req.url}`, async () => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello from the svkit example\n');
  }).catch(() => {
    // shutting down: refuse new work, the client retries elsewhere
    res.writeHead(503, { connection: 'close' });
    res.end();
  });
});

// runs once the requests under way have finished
onShutdown(() => new Promise((resolve) => server.close(() => resolve())));

server.listen(port, () => console.log(`app: listening on port ${port}`));
