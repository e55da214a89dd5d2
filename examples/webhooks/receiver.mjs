// A webhook receiver as your service would write it: verifies reflex's Standard Webhooks
// signature, drops duplicates by webhook-id, answers 204, and prints each event.
//   REFLEX_WEBHOOK_SECRET=whsec_... node examples/webhooks/receiver.mjs [port]
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const secret = process.env.REFLEX_WEBHOOK_SECRET;
if (!secret) {
  console.error('set REFLEX_WEBHOOK_SECRET to the whsec_ secret reflex signs with');
  process.exit(2);
}
const verifier = new Webhook(secret);
const seen = new Set(); // a real service keeps this in its database, next to the effect of the event

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let event;
    try {
      event = verifier.verify(body, req.headers);
    } catch (err) {
      console.error(`rejected: ${err.message}`);
      res.writeHead(400).end();
      return;
    }
    const id = req.headers['webhook-id'];
    if (!seen.has(id)) {
      seen.add(id);
      console.log(JSON.stringify({ id, type: event.type, subject: event.subject, data: event.data }));
    }
    res.writeHead(204).end();
  });
});
server.listen(Number(process.argv[2] ?? 9090), '127.0.0.1', () => {
  console.error(`receiving webhooks on http://127.0.0.1:${server.address().port}/hooks/orders`);
});
