from .._standin import FACTS


def save_config_portable(ignore_private_configs=True):
    return dict(FACTS["torch"].get("config", {}))
