import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { ConnectorError } from './errors'

/**
 * Addresses an outbound connection must not reach unless allowed: everything that is not a globally routed
 * unicast address (this host, the local networks, link-local, carrier-grade NAT, multicast, documentation and
 * reserved ranges), in IPv4 and IPv6. IPv6 forms that embed an IPv4 address (6to4, NAT64) are judged by the
 * IPv4 address they carry; IPv4-mapped and IPv4-compatible forms are refused outright.
 */
// One list per family: a BlockList also matches IPv4 addresses against IPv6 rules in their mapped form.
const REFUSED_V4 = new BlockList()
const REFUSED_V6 = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  REFUSED_V4.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and IPv4-compatible
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments, Teredo included
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local
  ['ff00::', 8], // multicast
] as const) {
  REFUSED_V6.addSubnet(network, prefix, 'ipv6')
}

/** The eight 16-bit groups of an IPv6 address. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase()
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/)
  if (dotted?.[1]) {
    const [a, b, c, d] = dotted[1].split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)))
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  return [...left, ...new Array(8 - left.length - right.length).fill(0), ...right]
}

const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`

/** Whether an outbound connection may reach this address without being allowed to reach private ones. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return !REFUSED_V4.check(address, 'ipv4')
  if (family !== 6) return false
  if (REFUSED_V6.check(address, 'ipv6')) return false
  const g = ipv6Groups(address)
  // 6to4 (2002::/16) and well-known NAT64 (64:ff9b::/96) reach the IPv4 address they carry.
  if (g[0] === 0x2002) return isPublicAddress(v4(g[1]!, g[2]!))
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return isPublicAddress(v4(g[6]!, g[7]!))
  }
  return true
}

/**
 * Addresses and CIDR blocks ("10.8.0.0/16", "fd00::/8", "127.0.0.1") as a predicate; throws on a bad entry.
 * Each family is matched against its own entries only.
 */
export function parseAllowList(entries: readonly string[]): (address: string) => boolean {
  const lists = { 4: new BlockList(), 6: new BlockList() }
  for (const entry of entries) {
    const [network = '', prefixText] = entry.trim().split('/')
    const family = isIP(network)
    if (family === 0) throw new Error(`"${entry}" is not an IP address or CIDR block`)
    const type = family === 4 ? 'ipv4' : 'ipv6'
    const list = lists[family as 4 | 6]
    if (prefixText === undefined) {
      list.addAddress(network, type)
      continue
    }
    const prefix = Number(prefixText)
    if (prefixText === '' || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new Error(`"${entry}" has an invalid prefix length`)
    }
    list.addSubnet(network, prefix, type)
  }
  return (address) => {
    const family = isIP(address)
    return family !== 0 && lists[family as 4 | 6].check(address, family === 4 ? 'ipv4' : 'ipv6')
  }
}

export type AllowPrivate = boolean | readonly string[]

/** A predicate deciding which addresses may be connected to under a policy. */
export function addressPolicy(allowPrivate: AllowPrivate): (address: string) => boolean {
  if (allowPrivate === true) return (address) => isIP(address) !== 0
  if (allowPrivate === false || allowPrivate.length === 0) return isPublicAddress
  const allowed = parseAllowList(allowPrivate)
  return (address) => isPublicAddress(address) || allowed(address)
}

export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

/** Strips the brackets of an IPv6 literal as URLs write it. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}

/**
 * Resolves a host name (or takes an IP literal) and keeps only the addresses the policy allows; refuses with
 * FORBIDDEN_ADDRESS when none is left. Callers connect to what this answers, never resolve the name again:
 * the address checked is the address connected to.
 */
export async function resolveAllowed(host: string, allowPrivate: AllowPrivate): Promise<ResolvedAddress[]> {
  const name = bareHost(host)
  const allowed = addressPolicy(allowPrivate)
  const literal = isIP(name)
  let addresses: ResolvedAddress[]
  if (literal !== 0) {
    addresses = [{ address: name, family: literal as 4 | 6 }]
  } else {
    try {
      addresses = (await lookup(name, { all: true, verbatim: true })) as ResolvedAddress[]
    } catch (error) {
      throw new ConnectorError('UNREACHABLE', `${name}: host name not found`, { cause: error })
    }
  }
  const usable = addresses.filter((a) => allowed(a.address))
  if (usable.length === 0) {
    const what = literal !== 0 ? name : `${name} (${addresses.map((a) => a.address).join(', ')})`
    throw new ConnectorError(
      'FORBIDDEN_ADDRESS',
      `${what} is a private, loopback or reserved address, which outbound connections may not reach unless FETCH_ALLOW_PRIVATE allows it`,
    )
  }
  return usable
}
