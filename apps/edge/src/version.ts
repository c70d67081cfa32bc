/** The edge's version, reported to hubs, in the status API, the MCP server and metrics. */
export const EDGE_VERSION = "0.2.0";
