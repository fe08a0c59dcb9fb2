// out[i] = a[i] + b[i] over f32 storage buffers: the residual add after attention and MLP.
// In place is fine (out may be the same buffer as a or b): each invocation reads a[i]
// and b[i], then writes result[i], and touches no other element.
#version 450

layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint count;  // elements to add; the last work group runs past it
} p;

void main() {
  // Groups spread over y when x would exceed 65535 (see groups_for() in vulkan_device.h).
  uint i = gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x) + gl_GlobalInvocationID.x;
  if (i >= p.count) return;
  result[i] = a[i] + b[i];
}
