"""The MCP server of the platform (Streamable HTTP, official `mcp` SDK), reached at <gateway>/mcp."""
