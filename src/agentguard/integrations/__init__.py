"""Adapters that put agentguard between an agent framework and its tools.

Each adapter lives in its own module and imports its framework only there, so importing
:mod:`agentguard.integrations` costs nothing:

- :mod:`agentguard.integrations.langchain`: LangChain tools (``guard_tool``), with held
  actions mapped to LangGraph's ``interrupt``.
- :mod:`agentguard.integrations.openai_agents`: OpenAI Agents SDK function tools
  (``guard_function_tool``), with held actions mapped to the SDK's ``needs_approval``.
"""
