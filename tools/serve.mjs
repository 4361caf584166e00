#!/usr/bin/env node
// A small static file server with no dependencies: the browser test runner serves the wasm tests
// from it (createStaticServer), and run directly it serves web/ at / and the built duet-core
// module (build/wasm/module) at /duet/ without the real server, for working on the page alone.
// PORT (default 8080) and HOST (default 127.0.0.1: nothing outside this machine) choose where it
// listens.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  // Browsers compile wasm while it downloads (instantiateStreaming) only with this type.
  '.wasm': 'application/wasm',
};

// Serves files from folders mounted at URL prefixes, e.g. { '/': 'web', '/duet/': 'build/wasm/module' };
// the longest matching prefix wins, and a path ending in / serves its index.html.
export function createStaticServer(mounts) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  return http.createServer(async (request, response) => {
    const fail = (status, text) => {
      response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`${text}\n`);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return fail(405, 'method not allowed');
    let urlPath;
    try {
      urlPath = decodeURIComponent(request.url.split('?')[0]);
    } catch {
      return fail(400, 'bad request: malformed percent-encoding');
    }
    // Refused, not normalised: no request of ours has a reason to climb out of a folder.
    if (!urlPath.startsWith('/') || urlPath.split(/[/\\]/).includes('..') || urlPath.includes('\0')) {
      return fail(400, 'bad request: path not allowed');
    }
    const prefix = prefixes.find((p) => urlPath.startsWith(p));
    if (prefix === undefined) return fail(404, 'not found');
    let file = path.join(mounts[prefix], urlPath.slice(prefix.length));
    if (urlPath.endsWith('/')) file = path.join(file, 'index.html');
    let stat;
    try {
      stat = await fs.promises.stat(file);
    } catch {
      return fail(404, 'not found');
    }
    if (!stat.isFile()) return fail(404, 'not found');
    response.writeHead(200, {
      'content-type': MIME_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': 'no-store', // a development server: always the latest build
    });
    if (request.method === 'HEAD') return response.end();
    fs.createReadStream(file).pipe(response);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const host = process.env.HOST || '127.0.0.1';
  const port = Number(process.env.PORT || 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`[serve] PORT must be a port number, not "${process.env.PORT}"`);
    process.exit(1);
  }
  const server = createStaticServer({
    '/': path.join(root, 'web'),
    '/duet/': path.join(root, 'build', 'wasm', 'module'),
  });
  server.on('error', (error) => {
    console.error(`[serve] cannot listen on ${host}:${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    console.log(`[serve] web/ at http://${host}:${port}/, build/wasm/module/ at /duet/ (Ctrl-C stops)`);
  });
}
