import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';

const mk = async (n: number) => {
  const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(n));
  const node = await createLibp2p({
    privateKey: key,
    start: false,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  });
  return node;
};
const t0 = performance.now();
const a = await mk(1);
const b = await mk(2);
let got = 0;
await b.handle('/x/1', (stream, conn) => {
  console.log('inbound stream from', conn.remotePeer.toString(), stream.protocol);
  stream.addEventListener('message', (e) => {
    got += e.data.byteLength;
  });
});
await a.start();
await b.start();
console.log(
  'started',
  performance.now() - t0,
  b.getMultiaddrs().map(String),
  peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(2))).toString(),
);
const conn = await a.dial(b.getMultiaddrs()[0]!);
console.log('dialed', performance.now() - t0, conn.remotePeer.toString());
const s = await conn.newStream('/x/1');
console.log('stream', performance.now() - t0);
const big = new Uint8Array(32 * 1024 * 1024);
const t1 = performance.now();
const r = s.send(big);
console.log('send returned', r, s.writableNeedsDrain, s.writeBufferLength);
while (got < big.length) await new Promise((res) => setTimeout(res, 5));
console.log('32MiB in', performance.now() - t1);
(globalThis as any).__trace?.(true);
await a.stop();
await b.stop();
console.log('stopped', process.getActiveResourcesInfo());
const t2 = performance.now();
setTimeout(() => console.log('after 100ms', process.getActiveResourcesInfo()), 100).unref();
setTimeout(() => console.log('after 1500ms', process.getActiveResourcesInfo()), 1500).unref();
process.on('exit', () => console.log('exit after stop', performance.now() - t2));
