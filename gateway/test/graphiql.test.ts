import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]

let stack: TestStack
let browser: Browser | undefined
const user = {
  id: randomUUID(),
  email: 'graphiql.person@example.com',
  username: 'graphiql-person',
  hashed_password: 'x',
}

const MISSING = `${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\``

beforeAll(async () => {
  stack = await startTestStack()
  await stack.subgraphs.core.database.db.insertInto('users').values(user).execute()
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
})
afterAll(async () => {
  await browser?.close()
  await stack?.stop()
})

describe('GraphiQL in a browser', () => {
  it('loads from the gateway alone and runs a query against the database', async () => {
    // A missing browser is a broken machine, not a reason to skip: CI installs it (see .ci/run).
    if (!browser) throw new Error(MISSING)
    // Signed in: the browser sends a bearer token with every request (GraphiQL's own fetches included).
    const context = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${stack.tokenFor({ superuser: true })}` },
    })
    const page = await context.newPage()
    const origin = new URL(stack.gatewayUrl).origin
    const requested: string[] = []
    page.on('request', (request) => requested.push(request.url()))
    // Belt and braces: a request bound elsewhere is refused here, and the assertion below reports it.
    await context.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    )
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    // The gateway's Content-Security-Policy blocks outside loads before they become requests: count those too.
    await page.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] }
      w.cspViolations = []
      document.addEventListener('securitypolicyviolation', (e) =>
        w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
      )
    })

    await page.goto(stack.graphqlUrl, { waitUntil: 'load' })
    const editor = page.locator('.graphiql-query-editor .monaco-editor').first()
    await editor.waitFor({ state: 'visible', timeout: 30_000 })
    await editor.click()
    await page.keyboard.press('ControlOrMeta+A')
    await page.keyboard.press('Delete')
    // insertText sends the text as one input, so the editor's auto-closing brackets do not double it.
    await page.keyboard.insertText(`{ userByEmail(email: "${user.email}") { id username email } }`)
    await page.locator('.graphiql-execute-button').click()

    const response = page.locator('.graphiql-response')
    await expect.poll(() => response.textContent(), { timeout: 30_000 }).toContain(user.username)
    const text = ((await response.textContent()) ?? '').replace(/\s+/g, ' ')
    expect(text).toContain(`"id": "${user.id}"`)
    expect(text).toContain(`"email": "${user.email}"`)

    const outside = requested.filter((url) => {
      if (url.startsWith('data:') || url.startsWith('blob:')) return false
      return new URL(url).origin !== origin
    })
    expect(outside).toEqual([])
    expect(requested.filter((url) => url.startsWith(`${origin}/graphql`)).length).toBeGreaterThanOrEqual(2)
    expect(
      await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations),
    ).toEqual([])
    expect(pageErrors).toEqual([])
    if (process.env.GRAPHIQL_SCREENSHOT) await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT })
    await context.close()
  })
})
