// The `fast` preset's surface shader: Lambert diffuse under one sun plus ambient light,
// with the object colour from the vertex colour. A fraction of the cost of the PBR shader
// on a software rasteriser, and enough shading to tell an object's faces apart.
#import bevy_pbr::forward_io::VertexOutput

struct FastLight {
    // xyz: direction the light travels.
    direction: vec4<f32>,
    // rgb: sun colour times intensity.
    sun: vec4<f32>,
    // rgb: ambient colour times intensity.
    ambient: vec4<f32>,
};

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> light: FastLight;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let n = normalize(in.world_normal);
    let diffuse = max(dot(n, -light.direction.xyz), 0.0);
#ifdef VERTEX_COLORS
    let albedo = in.color.rgb;
#else
    let albedo = vec3<f32>(0.8, 0.8, 0.8);
#endif
    return vec4<f32>(albedo * (light.ambient.rgb + light.sun.rgb * diffuse), 1.0);
}
