"""Fine-tuning providers: the OpenAI-compatible API (`openai_api`), and the LLaMA-Factory
config writer (`llamafactory`, written, not run). The job shape they serve is
csc.finetune.jobs."""
