// A js-libp2p peer for Hive's interop tests. Started as `node peer.mjs '{"port":0,"topics":[...]}'`,
// it prints one JSON line {"event":"ready",...} and then answers JSON commands read from stdin, one
// per line ({"id":1,"cmd":"ping","peer":"12D3..."}), with {"id":1,"ok":...} or {"id":1,"error":...}.
// Messages on joined topics are printed as {"event":"message",...}.

// libp2p 2.x calls Promise.withResolvers (Node >= 22); this machine has Node 20.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify, identifyPush } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
const { gossipsub } = await import('@chainsafe/libp2p-gossipsub')
const { peerIdFromString } = await import('@libp2p/peer-id')
const { multiaddr } = await import('@multiformats/multiaddr')
const { CID } = await import('multiformats/cid')
const Digest = await import('multiformats/hashes/digest')
const readline = await import('node:readline')

const options = JSON.parse(process.argv[2] ?? '{}')
const node = await createLibp2p({
  addresses: { listen: [`/ip4/127.0.0.1/tcp/${options.port ?? 0}`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] },
  services: {
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping(),
    dht: kadDHT({
      protocol: options.dhtProtocol ?? '/ipfs/kad/1.0.0',
      clientMode: false,
      peerInfoMapper: passthroughMapper,
      validators: { hive: async () => {} },
      selectors: { hive: () => 0 }
    }),
    pubsub: gossipsub({
      allowPublishToZeroTopicPeers: true,
      scoreParams: { IPColocationFactorWeight: 0 }
    })
  }
})

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const b64 = (u8) => Buffer.from(u8).toString('base64')
const fromB64 = (s) => new Uint8Array(Buffer.from(s, 'base64'))

node.services.pubsub.addEventListener('message', (evt) => {
  const m = evt.detail
  out({ event: 'message', topic: m.topic, data: b64(m.data), from: m.type === 'signed' ? m.from.toString() : null })
})
for (const t of options.topics ?? []) node.services.pubsub.subscribe(t)

const cidOf = (keyB64) => CID.createV1(0x55, Digest.decode(fromB64(keyB64)))

const commands = {
  async dial (c) { const conn = await node.dial(multiaddr(c.addr)); return conn.remotePeer.toString() },
  async ping (c) { return await node.services.ping.ping(peerIdFromString(c.peer)) },
  async peerInfo (c) {
    const p = await node.peerStore.get(peerIdFromString(c.peer))
    return { protocols: p.protocols, addrs: p.addresses.map(a => a.multiaddr.toString()), agent: new TextDecoder().decode(p.metadata.get('AgentVersion') ?? new Uint8Array()) }
  },
  async inRoutingTable (c) { return (await node.services.dht.routingTable.find(peerIdFromString(c.peer))) != null },
  async routingTableSize () { return node.services.dht.routingTable.size },
  async put (c) { await node.contentRouting.put(fromB64(c.key), fromB64(c.value)); return true },
  async get (c) { return b64(await node.contentRouting.get(fromB64(c.key))) },
  async provide (c) { await node.contentRouting.provide(cidOf(c.key)); return true },
  async findProviders (c) {
    const found = []
    for await (const p of node.contentRouting.findProviders(cidOf(c.key), { signal: AbortSignal.timeout(c.timeoutMs ?? 10000) })) {
      found.push(p.id.toString())
      if (found.length >= (c.limit ?? 1)) break
    }
    return found
  },
  async findPeer (c) {
    const p = await node.peerRouting.findPeer(peerIdFromString(c.peer), { signal: AbortSignal.timeout(c.timeoutMs ?? 10000) })
    return p.multiaddrs.map(a => a.toString())
  },
  async subscribe (c) { node.services.pubsub.subscribe(c.topic); return true },
  async topicPeers (c) { return node.services.pubsub.getSubscribers(c.topic).map(p => p.toString()) },
  async meshPeers (c) { return node.services.pubsub.getMeshPeers(c.topic) },
  async publish (c) { const r = await node.services.pubsub.publish(c.topic, fromB64(c.data)); return r.recipients.map(p => p.toString()) },
  async connections () { return node.getConnections().map(c => c.remotePeer.toString()) },
  async stop () { await node.stop(); setTimeout(() => process.exit(0), 50); return true }
}

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  let c
  try {
    c = JSON.parse(line)
    out({ id: c.id, ok: await commands[c.cmd](c) })
  } catch (e) {
    out({ id: c?.id, error: String(e?.stack ?? e) })
  }
})
process.stdin.on('end', async () => { await node.stop(); process.exit(0) })

out({ event: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()) })
