// The API document's "Stream Progress (SSE)" example, verbatim. The runner swaps in the real URL.
const eventSource = new EventSource(
  'http://localhost:8000/stream/abc123-def456-ghi789?api_key=test-key-123'
);

eventSource.onmessage = (event) => {
  const data = JSON.parse(event.data);
  console.log(data.status, data.message);
  
  if (data.status === 'completed') {
    console.log('Result:', data.result);
    eventSource.close();
  }
};
