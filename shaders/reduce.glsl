// Sums and maxima over a whole work group: within each subgroup by subgroup operations,
// then across subgroups through shared memory. Call from uniform control flow (every
// invocation of the group), since they contain barriers. Work groups of up to 256.
#extension GL_KHR_shader_subgroup_arithmetic : require

shared float reduce_partials[256];

float workgroup_sum(float value) {
  value = subgroupAdd(value);
  barrier();  // a previous call may still be reading reduce_partials
  if (subgroupElect()) reduce_partials[gl_SubgroupID] = value;
  barrier();
  float total = 0.0;
  for (uint i = 0u; i < gl_NumSubgroups; ++i) total += reduce_partials[i];
  return total;
}

float workgroup_max(float value) {
  value = subgroupMax(value);
  barrier();
  if (subgroupElect()) reduce_partials[gl_SubgroupID] = value;
  barrier();
  float result = reduce_partials[0];
  for (uint i = 1u; i < gl_NumSubgroups; ++i) result = max(result, reduce_partials[i]);
  return result;
}
