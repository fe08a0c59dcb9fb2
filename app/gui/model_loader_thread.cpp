#include "model_loader_thread.h"

#include <exception>
#include <vector>

#include "archscope/model_loader.h"
#include "archscope/vulkan_device.h"

namespace archscope::gui {

namespace {

// The device a Session with device "auto" would run on: the best usable Vulkan device
// (discrete GPU first), else the CPU reference path.
QString runtime_device() {
  try {
    const std::vector<archscope::VulkanDeviceInfo> devices = archscope::VulkanDevice::list();
    const archscope::VulkanDeviceInfo* best = nullptr;
    auto rank = [](archscope::VulkanDeviceType t) {
      switch (t) {
        case archscope::VulkanDeviceType::DiscreteGpu: return 4;
        case archscope::VulkanDeviceType::IntegratedGpu: return 3;
        case archscope::VulkanDeviceType::VirtualGpu: return 2;
        case archscope::VulkanDeviceType::Cpu: return 1;
        default: return 0;
      }
    };
    for (const auto& d : devices)
      if (d.usable() && (!best || rank(d.type) > rank(best->type))) best = &d;
    if (best)
      return QString("Vulkan: %1 (%2)").arg(QString::fromStdString(best->name), archscope::to_string(best->type));
  } catch (const std::exception&) {
  }
  return "CPU reference (no Vulkan device)";
}

}  // namespace

ModelLoadJob::ModelLoadJob(int id, QString path, LoadFunction load, QObject* parent)
    : QThread(parent), id_(id), path_(std::move(path)), load_(std::move(load)) {}

void ModelLoadJob::run() {
  emit progress(10, "Reading the model description");
  archscope::Result<archscope::ModelSpec> spec = [&]() -> archscope::Result<archscope::ModelSpec> {
    try {
      return load_(path_.toStdString());
    } catch (const std::exception& e) {
      return archscope::Error(path_.toStdString() + ": " + e.what());
    }
  }();
  if (cancelled_) return;
  if (!spec.ok()) {
    error = QString::fromStdString(spec.error().what());
    return;
  }
  auto result = std::make_shared<LoadedModel>();
  result->spec = std::move(spec.value());
  if (result->spec.weights_present && result->spec.source == archscope::SourceKind::Gguf) {
    emit progress(70, "Finding the compute device");
    result->device = runtime_device();
  } else if (result->spec.weights_present) {
    result->device = "analytic (the engine runs GGUF files)";
  } else {
    result->device = "analytic (no weights)";
  }
  if (cancelled_) return;
  emit progress(100, "Done");
  model = std::move(result);
}

ModelLoader::ModelLoader(QObject* parent)
    : QObject(parent), load_([](const std::string& path) { return archscope::load_model_spec(path); }) {}

ModelLoader::~ModelLoader() {
  // Jobs already cancelled have no parent link left to us but still run; all of them are
  // children of this object, so wait for each before it is destroyed.
  for (ModelLoadJob* job : findChildren<ModelLoadJob*>()) {
    job->requestCancel();
    job->disconnect(this);
    job->wait();
  }
}

int ModelLoader::start(const QString& path) {
  cancel();
  auto* job = new ModelLoadJob(next_id_++, path, load_, this);
  current_ = job;
  connect(job, &ModelLoadJob::progress, this, [this, job](int percent, const QString& stage) {
    if (job == current_ && !job->cancelRequested()) emit progress(job->id(), percent, stage);
  });
  connect(job, &QThread::finished, this, [this, job] { finish(job); });
  job->start();
  return job->id();
}

void ModelLoader::cancel() {
  if (!current_) return;
  ModelLoadJob* job = current_;
  current_ = nullptr;
  job->requestCancel();
  emit cancelled(job->id(), job->path());
}

void ModelLoader::finish(ModelLoadJob* job) {
  const bool current = job == current_;
  if (current) current_ = nullptr;
  if (current && !job->cancelRequested()) {
    if (job->model)
      emit loaded(job->id(), job->model);
    else
      emit failed(job->id(), job->path(), job->error.isEmpty() ? QString("%1: loading failed").arg(job->path()) : job->error);
  }
  job->deleteLater();
}

}  // namespace archscope::gui
