import { enumValues, JOB_STATUSES } from '@pm/service-kit'
import { MATCH_TYPES } from '../validation'

/** The schema's enums over their stored values: resolvers and SQL see the stored values. */
export const enums = {
  Code2AsinJobStatus: enumValues(JOB_STATUSES),
  AsinMatchType: enumValues(MATCH_TYPES),
}
