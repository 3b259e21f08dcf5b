export { runDoctor, renderDoctor, DOCTOR_SCHEMA, type DoctorReport } from './doctor.js';
export type { Finding, Status } from './finding.js';
