// A second outside parser for test/tools/http_conformance.py: Node's own HTTP client,
// whose parser is llhttp in its strict mode (the default: no insecureHTTPParser).
// Reads one JSON object a line on stdin, {"method": "GET", "data": BASE64}: the raw
// bytes of one response, which a loopback server (127.0.0.1:0) replays to a request
// with that method, then closes. Writes one JSON line per input: {"status", "headers"
// (count), "body" (bytes)} as parsed, or {"error": CODE, "reason"} when llhttp
// refuses the response.
'use strict';
const http = require('http');
const net = require('net');
const readline = require('readline');

let pending = null; // the bytes the next connection gets

const server = net.createServer((sock) => {
	sock.on('data', () => {});
	sock.on('error', () => {});
	sock.end(pending);
});

function check(method, data) {
	return new Promise((resolve) => {
		let done = false;
		const finish = (v) => {
			if (!done) {
				done = true;
				resolve(v);
			}
		};
		pending = data;
		const req = http.request(
			{ host: '127.0.0.1', port: server.address().port, method, agent: false, path: '/' },
			(res) => {
				let n = 0;
				res.on('data', (d) => (n += d.length));
				res.on('end', () =>
					finish({ status: res.statusCode, headers: res.rawHeaders.length / 2, body: n })
				);
				res.on('error', (e) => finish({ error: e.code || 'error', reason: e.message }));
			}
		);
		req.on('error', (e) => finish({ error: e.code || 'error', reason: e.reason || e.message }));
		req.setTimeout(5000, () => {
			req.destroy();
			finish({ error: 'timeout', reason: 'no complete response within 5 s' });
		});
		req.end();
	});
}

server.listen(0, '127.0.0.1', async () => {
	const lines = readline.createInterface({ input: process.stdin });
	for await (const line of lines) {
		const { method, data } = JSON.parse(line);
		const out = await check(method, Buffer.from(data, 'base64'));
		process.stdout.write(JSON.stringify(out) + '\n');
	}
	server.close();
});
