from ._standin import FACTS


def compile_factors():
    # vLLM's own: every environment factor it hashes into the compile folder's name
    return dict(FACTS["vllm"]["factors"])
