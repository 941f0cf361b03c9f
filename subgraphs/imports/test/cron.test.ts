import { describe, expect, it } from 'vitest'
import { CronError, nextRun, parseCron } from '../src/cron'

const at = (iso: string) => new Date(iso)
const next = (expression: string, after: string) => nextRun(parseCron(expression), at(after))?.toISOString()

describe('parseCron', () => {
  it('reads lists, ranges, steps and names', () => {
    const s = parseCron('  */15  0-6/2,12 1,15 JAN-mar,dec mon-FRI ')
    expect(s.expression).toBe('*/15 0-6/2,12 1,15 JAN-mar,dec mon-FRI')
    expect(s.minutes).toEqual([0, 15, 30, 45])
    expect(s.hours).toEqual([0, 2, 4, 6, 12])
    expect(s.daysOfMonth).toEqual([1, 15])
    expect(s.months).toEqual([1, 2, 3, 12])
    expect(s.daysOfWeek).toEqual([1, 2, 3, 4, 5])
    expect(s.domStar).toBe(false)
    expect(s.dowStar).toBe(false)
  })

  it('reads a start with a step as running to the end of the field', () => {
    expect(parseCron('5/15 * * * *').minutes).toEqual([5, 20, 35, 50])
  })

  it('takes 7 and SUN as Sunday, and expands macros', () => {
    expect(parseCron('0 0 * * 7').daysOfWeek).toEqual([0])
    expect(parseCron('0 0 * * 5-7').daysOfWeek).toEqual([0, 5, 6])
    expect(parseCron('0 0 * * SUN').daysOfWeek).toEqual([0])
    const daily = parseCron('@daily')
    expect(daily.expression).toBe('@daily')
    expect([daily.minutes, daily.hours]).toEqual([[0], [0]])
    expect(parseCron('@HOURLY').minutes).toEqual([0])
  })

  it.each([
    ['', /empty/],
    ['* * * *', /expected 5 fields .* got 4/],
    ['* * * * * *', /got 6/],
    ['60 * * * *', /minute field allows 0-59, not 60/],
    ['* 24 * * *', /hour field allows 0-23/],
    ['* * 0 * *', /day-of-month field allows 1-31/],
    ['* * * 13 *', /month field allows 1-12/],
    ['* * * * 8', /day-of-week field allows 0-7/],
    ['* * * FOO *', /month field has "FOO"; expected a number 1-12 or a name JAN-DEC/],
    ['a * * * *', /minute field has "a"/],
    ['*/0 * * * *', /step "0"/],
    ['5-1 * * * *', /backwards range "5-1"/],
    ['1-2-3 * * * *', /malformed range/],
    ['1,,2 * * * *', /empty list item/],
    ['* * * * MON-', /malformed range/],
    ['*/5/2 * * * *', /two steps/],
    ['@reboot', /unknown macro/],
    ['0 0 31 4,6 *', /never occurs/],
    ['0 0 30 2 *', /never occurs/],
  ])('refuses %j', (expression, message) => {
    expect(() => parseCron(expression)).toThrow(CronError)
    expect(() => parseCron(expression)).toThrow(message)
  })
})

describe('nextRun (UTC)', () => {
  it('is strictly after the given time', () => {
    expect(next('*/15 * * * *', '2026-03-10T10:07:30Z')).toBe('2026-03-10T10:15:00.000Z')
    expect(next('0 3 * * *', '2026-03-10T03:00:00Z')).toBe('2026-03-11T03:00:00.000Z')
    expect(next('* * * * *', '2026-03-10T03:00:59.999Z')).toBe('2026-03-10T03:01:00.000Z')
  })

  it('rolls over hours, days, months and years', () => {
    expect(next('30 2 * * *', '2026-03-10T23:59:00Z')).toBe('2026-03-11T02:30:00.000Z')
    expect(next('0 0 1 * *', '2026-01-31T12:00:00Z')).toBe('2026-02-01T00:00:00.000Z')
    expect(next('0 6 * JAN *', '2026-12-31T23:00:00Z')).toBe('2027-01-01T06:00:00.000Z')
    expect(next('59 23 31 12 *', '2026-06-01T00:00:00Z')).toBe('2026-12-31T23:59:00.000Z')
    expect(next('45 * * * *', '2026-03-10T10:50:00Z')).toBe('2026-03-10T11:45:00.000Z')
  })

  it('runs on weekdays only (Friday evening → Monday morning)', () => {
    // 2026-03-13 is a Friday.
    expect(next('0 9 * * MON-FRI', '2026-03-13T10:00:00Z')).toBe('2026-03-16T09:00:00.000Z')
    expect(next('0 4 * * 1-5', '2026-03-13T03:00:00Z')).toBe('2026-03-13T04:00:00.000Z')
  })

  it('matches either day field when both are restricted, both when one starts with *', () => {
    // The 15th (a Sunday) or any Monday: Monday the 2nd comes first.
    expect(next('0 0 15 * MON', '2026-03-01T00:00:00Z')).toBe('2026-03-02T00:00:00.000Z')
    expect(next('0 0 15 * MON', '2026-03-14T00:00:00Z')).toBe('2026-03-15T00:00:00.000Z')
    // Odd days that are also Mondays: 2 March is even, 9 March is odd.
    expect(next('0 0 */2 * MON', '2026-03-01T00:00:00Z')).toBe('2026-03-09T00:00:00.000Z')
  })

  it('finds 29 February in the next leap year', () => {
    expect(next('0 0 29 2 *', '2025-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z')
    expect(next('0 12 29 FEB *', '2028-02-29T11:00:00Z')).toBe('2028-02-29T12:00:00.000Z')
  })

  it('handles macros and Sunday as 0 or 7', () => {
    expect(next('@weekly', '2026-03-10T00:00:00Z')).toBe('2026-03-15T00:00:00.000Z')
    expect(next('0 0 * * 7', '2026-03-10T00:00:00Z')).toBe('2026-03-15T00:00:00.000Z')
    expect(next('@yearly', '2026-03-10T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z')
  })
})
