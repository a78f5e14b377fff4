"""Command center operations: alert rules and alerts, incidents with SOP checklists, dispatch of field
units, and reports from the public.

Import-light on purpose (the settings tree imports `safecity.operations.config`): the database, the bus
subscriber and the web schemas live in submodules; `safecity.operations.runtime.build_operations` wires them.
"""
