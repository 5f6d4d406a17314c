// The API document's "JavaScript (Node.js)" example, verbatim but for BASE_URL, which the test passes in.
const axios = require('axios');

const API_KEY = 'test-key-123';
const BASE_URL = process.env.BASE_URL;

async function generateText(prompt) {
  // Submit request
  const submitResponse = await axios.post(
    `${BASE_URL}/generate`,
    {
      prompt: prompt,
      max_tokens: 256,
      temperature: 0.7
    },
    {
      headers: { 'X-API-Key': API_KEY }
    }
  );
  
  const taskId = submitResponse.data.task_id;
  console.log('Task ID:', taskId);
  
  // Poll for result
  while (true) {
    const resultResponse = await axios.get(
      `${BASE_URL}/result/${taskId}`,
      {
        headers: { 'X-API-Key': API_KEY }
      }
    );
    
    const result = resultResponse.data;
    
    if (result.status === 'completed') {
      console.log('\nResult:', result.result);
      console.log('\nMetrics:', result.metrics);
      break;
    } else if (result.status === 'error') {
      console.error('Error:', result.error_message);
      break;
    } else {
      console.log(`Status: ${result.status}...`);
      await new Promise(resolve => setTimeout(resolve, 2000));
    }
  }
}

generateText('Explain quantum computing in simple terms');
