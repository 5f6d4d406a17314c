"""OpenAI's Responses API: each response is a task, with the durability of every task."""
