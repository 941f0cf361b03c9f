export { MODULE_CATEGORY, MODULE_IDS, MODULE_INFO, MODULE_KEY_PREFIX, type ModuleId } from '@pm/service-kit'
