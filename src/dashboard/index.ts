export { DEFAULT_DASHBOARD_PORT, type Dashboard, type DashboardOptions, startDashboard } from "./server.js";
export { listSessions, locateSessions } from "./sessions.js";
export { openInBrowser } from "./open.js";
