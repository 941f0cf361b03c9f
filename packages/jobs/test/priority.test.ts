import { describe, expect, it } from 'vitest'
import { workerNice } from '../src'

describe('worker priority', () => {
  it('reads WORKER_NICE (0 to 19), else the domain default', () => {
    expect(workerNice({}, 10)).toBe(10)
    expect(workerNice({ WORKER_NICE: ' 0 ' }, 10)).toBe(0)
    expect(workerNice({ WORKER_NICE: '19' }, 0)).toBe(19)
    for (const bad of ['-5', '20', 'low', '2.5'])
      expect(() => workerNice({ WORKER_NICE: bad }, 0)).toThrow(/WORKER_NICE must be an integer from 0 to 19/)
  })
})
