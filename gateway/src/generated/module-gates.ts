// GENERATED FILE, do not edit: `pnpm compose` (gateway/scripts/compose.ts) writes it from the @module
// directives of subgraphs/<domain>/src/schema.graphql; a test fails when it is out of date.

/** Module id → the types, fields and input fields of the schema it gates (modules without any are left out). */
export const SCHEMA_MODULE_GATES: Readonly<
  Record<string, { types: readonly string[]; fields: readonly string[]; inputs: readonly string[] }>
> = {
  "suppliers": {
    "types": [
      "Supplier",
      "SupplierConnection",
      "SupplierDetails",
      "SupplierEdge"
    ],
    "fields": [
      "Mutation.createSupplier",
      "Mutation.deactivateSupplier",
      "Mutation.updateSupplier",
      "Product.supplier",
      "ProductPrice.supplier",
      "Query.supplier",
      "Query.supplierByCode",
      "Query.suppliers"
    ],
    "inputs": []
  },
  "imports": {
    "types": [
      "AppendImportErrorsPayload",
      "AppendImportLogsPayload",
      "ImportConfig",
      "ImportConfigConnection",
      "ImportConfigEdge",
      "ImportError",
      "ImportErrorConnection",
      "ImportErrorEdge",
      "ImportFile",
      "ImportJob",
      "ImportJobConnection",
      "ImportJobEdge",
      "ImportLog",
      "ImportLogConnection",
      "ImportLogEdge",
      "ImportMetric",
      "ImportSchedule",
      "ImportScheduleConnection",
      "ImportScheduleEdge",
      "ImportStatistics",
      "MappingTemplate",
      "MappingTemplateConnection",
      "MappingTemplateEdge",
      "RecordImportMetricsPayload",
      "SupplierImportMetric"
    ],
    "fields": [
      "Mutation.appendImportErrors",
      "Mutation.appendImportLogs",
      "Mutation.createImportConfig",
      "Mutation.createImportJob",
      "Mutation.createImportSchedule",
      "Mutation.createMappingTemplate",
      "Mutation.deactivateImportConfig",
      "Mutation.deactivateImportSchedule",
      "Mutation.deleteMappingTemplate",
      "Mutation.recomputeImportMetrics",
      "Mutation.recordImportMetrics",
      "Mutation.recordImportProgress",
      "Mutation.setImportJobStatus",
      "Mutation.updateImportConfig",
      "Mutation.updateImportSchedule",
      "Mutation.updateMappingTemplate",
      "Query.importConfig",
      "Query.importConfigs",
      "Query.importJob",
      "Query.importJobs",
      "Query.importMetrics",
      "Query.importSchedules",
      "Query.mappingTemplates",
      "Supplier.importConfigs",
      "Supplier.importJobs",
      "Supplier.importMetrics"
    ],
    "inputs": []
  },
  "code2asin": {
    "types": [
      "Code2AsinJob",
      "Code2AsinJobConnection",
      "Code2AsinJobEdge",
      "Code2AsinJobTarget",
      "Code2AsinProvider",
      "Code2AsinProviderInput",
      "Code2AsinProviderKind",
      "Code2AsinResult",
      "Code2AsinResultConnection",
      "Code2AsinResultEdge",
      "Code2AsinResultRejection",
      "RecordAsinResultsPayload"
    ],
    "fields": [
      "Mutation.cancelCode2AsinJob",
      "Mutation.createCode2AsinJob",
      "Mutation.recordAsinResults",
      "Mutation.resumeCode2AsinJob",
      "Mutation.verifyAsinMatch",
      "Product.asinMatches",
      "Product.bestAsinMatch",
      "Query.code2asinJob",
      "Query.code2asinJobs",
      "Query.code2asinResultsByAsin"
    ],
    "inputs": []
  },
  "ean_lookup": {
    "types": [
      "EanResolution"
    ],
    "fields": [
      "Product.eanResolutions",
      "Query.eanResolutions",
      "Query.productByEan"
    ],
    "inputs": []
  },
  "ai_services": {
    "types": [
      "AiUsageLog",
      "AiUsageLogConnection",
      "AiUsageLogEdge",
      "AiUsageSummary"
    ],
    "fields": [
      "Query.aiUsageLogs",
      "Query.aiUsageSummary"
    ],
    "inputs": []
  },
  "exports": {
    "types": [
      "CreateExportJobPayload",
      "ExportFormat",
      "ExportJob",
      "ExportJobConnection",
      "ExportJobEdge",
      "ExportJobItem",
      "ExportJobItemConnection",
      "ExportJobItemEdge",
      "ExportPhase",
      "ExportPlatform",
      "ExportSelectionInput",
      "StartExportInput"
    ],
    "fields": [
      "Mutation.createExportJob",
      "Mutation.createExportPlatform",
      "Mutation.deactivateExportPlatform",
      "Mutation.recordExportItemResult",
      "Mutation.resumeExport",
      "Mutation.setExportJobStatus",
      "Mutation.startExport",
      "Mutation.updateExportPlatform",
      "Product.exportItems",
      "Query.exportJob",
      "Query.exportJobs",
      "Query.exportPlatform",
      "Query.exportPlatforms"
    ],
    "inputs": []
  },
  "brand_manager": {
    "types": [],
    "fields": [
      "Mutation.createBrand",
      "Mutation.updateBrand"
    ],
    "inputs": []
  },
  "category_manager": {
    "types": [],
    "fields": [
      "Mutation.createCategory",
      "Mutation.moveCategory",
      "Mutation.updateCategory"
    ],
    "inputs": []
  },
  "completeness": {
    "types": [
      "CompletenessSummaryRow",
      "ProductCompleteness"
    ],
    "fields": [
      "Category.completenessRules",
      "Category.completenessRulesAreDefault",
      "Product.completeness",
      "Query.completenessSummary"
    ],
    "inputs": [
      "CreateCategoryInput.completenessRules",
      "ProductFilter.completenessAtLeast",
      "ProductFilter.completenessBelow",
      "UpdateCategoryInput.completenessRules"
    ]
  },
  "price_monitor": {
    "types": [
      "PriceHistoryConnection",
      "PriceHistoryEdge",
      "PriceHistoryEntry"
    ],
    "fields": [
      "Product.priceHistory"
    ],
    "inputs": []
  }
}
