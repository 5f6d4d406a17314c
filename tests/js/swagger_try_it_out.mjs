// Opens /docs, authorizes with an API key, and runs "Try it out" on POST /generate; prints the status.
// usage: node swagger_try_it_out.mjs BASE_URL API_KEY
import { withPage } from "./browser.mjs";

const [baseUrl, apiKey] = process.argv.slice(2);

await withPage(async (page) => {
  const external = [];
  page.on("request", (request) => { if (!request.url().startsWith(baseUrl)) external.push(request.url()); });
  await page.goto(`${baseUrl}/docs`);
  await page.click("button.authorize");
  await page.locator(".auth-container").filter({ hasText: "ApiKeyHeader" }).locator("input").fill(apiKey);
  await page.locator(".auth-container").filter({ hasText: "ApiKeyHeader" }).locator("button.authorize").click();
  await page.click("button.close-modal");
  await page.click("#operations-default-generate .opblock-summary");
  await page.click("#operations-default-generate .try-out__btn");
  await page.fill("#operations-default-generate textarea.body-param__text", '{"prompt": "from Swagger UI", "max_tokens": 3}');
  await page.click("#operations-default-generate button.execute");
  const status = page.locator("#operations-default-generate .live-responses-table tbody .response-col_status");
  await status.first().waitFor();
  const body = await page.locator("#operations-default-generate .live-responses-table .microlight").first().innerText();
  console.log(JSON.stringify({ status: (await status.first().innerText()).trim(), body, external }));
});
