// The types of what the graph and its workers are made of, for callers that cannot depend on those packages.
export type { GatewayOptions, RunningGateway } from '@pm/gateway'
export type { RunningWorker } from '@pm/jobs'
export type { Storage } from '@pm/storage'
export { type GraphOptions, type RunningGraph, startGraph } from './graph'
export { loadSubgraphPackage, type SubgraphPackage } from './packages'
export { type DomainWorkerOptions, domainJobs, domainsWithJobs, startDomainWorker } from './workers'
