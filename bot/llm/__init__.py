"""The optional language model: titles and summaries for what a digest shows, through any
OpenAI-compatible endpoint (hosted, or a local vLLM or Ollama). Without LLM_BASE_URL and LLM_MODEL
nothing here runs, and digests go out without generated lines."""
