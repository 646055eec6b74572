"""Documentation and its pictures, generated from the program so they cannot drift from it.

- ``config_reference``: docs/configuration.md from the settings model (``make docs``).
- ``settings_schema``: docs/settings.schema.json, the JSON Schema editors validate stack files with (``make docs``).
- ``diagram`` and ``runtime_picture``: a stack's architecture and its running system as SVG, drawn from the offline
  plan's recording; ``make plan`` draws both into build/plan/<stack>/, and ``runtime_picture`` draws
  docs/runtime-dev.svg.
"""
