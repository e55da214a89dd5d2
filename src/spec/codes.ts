/**
 * Every diagnostic code the spec loader emits, in one place so that docs, tests and users can
 * rely on them. RX0xx: reading the OpenAPI document; RX1xx: the x-reflex annotations.
 * (RX2xx config, RX3xx log entries and RX4xx runtime rule failures belong to other parts.)
 *
 *   RX001 the spec file cannot be read
 *   RX002 YAML/JSON syntax error
 *   RX003 a $ref cannot be resolved (missing file or missing target)
 *   RX004 not an OpenAPI 3.0/3.1 document
 *   RX005 the document violates the OpenAPI schema
 *   RX006 the OpenAPI parser failed otherwise
 *   RX007 a $ref reflex refuses to read (outside the spec's folder tree, not a regular file, too large, http)
 *
 *   RX100 unknown x-reflex annotation (e.g. `x-reflex-event`)
 *   RX101 known annotation in a place where reflex does not read it
 *   RX102 unknown key inside an annotation
 *   RX103 required key missing from an annotation
 *   RX104 annotation value has the wrong type
 *   RX105 annotation value is not allowed (enum, pattern, format, empty)
 *   RX110 unknown resource name
 *   RX111 operationId used twice (within a file or across spec files)
 *   RX112 stream produced by more than one spec file
 *   RX113 events sent to a resource's changelog stream
 *   RX120 CEL syntax error
 *   RX121 unknown CEL function
 *   RX122 unknown CEL variable
 *   RX123 CEL type error
 *   RX124 JSONata syntax error
 *   RX125 a CEL `matches` pattern that RE2 cannot compile (backreferences, lookaround)
 *   RX130 unknown field of the exchange (e.g. `response.stauts`)
 *   RX131 unknown property of a request/response body schema
 *   RX132 unknown path or query parameter
 *   RX150 warning: x-reflex-cdc has no effect (no resource with cdc: true)
 *   RX151 warning: resource declared but not used by any path
 *   RX152 warning: an operation can never match (another one has the same method and template)
 *   RX153 warning: a JSONata function calls itself with no condition (it never ends)
 *   RX154 warning: CEL comprehensions nested over request/response data (cost grows with the product of sizes)
 *   RX155 warning: a request path matches one operation as the client called it and another as the upstream saw it
 */
export const CODES = {
  unreadable: 'RX001',
  syntax: 'RX002',
  badRef: 'RX003',
  notOpenApi: 'RX004',
  openApiSchema: 'RX005',
  parserFailed: 'RX006',
  refusedRef: 'RX007',

  unknownAnnotation: 'RX100',
  misplacedAnnotation: 'RX101',
  unknownKey: 'RX102',
  missingKey: 'RX103',
  wrongType: 'RX104',
  badValue: 'RX105',
  unknownResource: 'RX110',
  duplicateOperationId: 'RX111',
  streamClash: 'RX112',
  changelogStream: 'RX113',
  celSyntax: 'RX120',
  celUnknownFunction: 'RX121',
  celUnknownVariable: 'RX122',
  celType: 'RX123',
  jsonataSyntax: 'RX124',
  celRegex: 'RX125',
  unknownField: 'RX130',
  unknownProperty: 'RX131',
  unknownParameter: 'RX132',
  cdcWithoutEffect: 'RX150',
  unusedResource: 'RX151',
  shadowedRoute: 'RX152',
  endlessRecursion: 'RX153',
  nestedComprehension: 'RX154',
  clientUpstreamAmbiguity: 'RX155',
} as const;

export type SpecCode = (typeof CODES)[keyof typeof CODES];
