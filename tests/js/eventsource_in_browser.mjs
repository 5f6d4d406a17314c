// Runs the document's EventSource example unchanged in a page of the api's own origin; prints its console.
// usage: node eventsource_in_browser.mjs BASE_URL TASK_ID API_KEY
import { readFileSync } from "node:fs";
import { withPage } from "./browser.mjs";

const [baseUrl, taskId, apiKey] = process.argv.slice(2);
const example = readFileSync(new URL("./eventsource_example.js", import.meta.url), "utf8").replace(
  "http://localhost:8000/stream/abc123-def456-ghi789?api_key=test-key-123",
  `${baseUrl}/stream/${taskId}?api_key=${apiKey}`,
);

await withPage(async (page) => {
  const finished = new Promise((resolve) => {
    page.on("console", (message) => {
      console.log(JSON.stringify(message.text()));
      if (message.text().startsWith("Result:")) resolve();
    });
  });
  await page.goto(`${baseUrl}/health`);
  await page.addScriptTag({ content: example });
  await finished;
});
