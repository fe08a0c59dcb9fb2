// Loading a model description off the UI thread. ModelLoader::start() runs
// archscope::load_model_spec (and, for a runnable GGUF file, finds the Vulkan device the
// engine would pick) on a QThread and reports progress, the result or the error back on the
// UI thread through signals. cancel() returns at once: the job is told to stop between
// stages and whatever it produces afterwards is dropped, so the window never waits on it.
#pragma once

#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "archscope/error.h"
#include "archscope/model_spec.h"

namespace archscope::gui {

// What a finished load hands the window.
struct LoadedModel {
  archscope::ModelSpec spec;
  QString device;  // "analytic (no weights)", "Vulkan: NVIDIA ...", "CPU reference"
};

// One load, on its own thread. Owned by ModelLoader; deletes itself once finished.
class ModelLoadJob : public QThread {
  Q_OBJECT
 public:
  using LoadFunction = std::function<archscope::Result<archscope::ModelSpec>(const std::string&)>;

  ModelLoadJob(int id, QString path, LoadFunction load, QObject* parent = nullptr);
  int id() const { return id_; }
  const QString& path() const { return path_; }
  void requestCancel() { cancelled_ = true; }
  bool cancelRequested() const { return cancelled_; }

  // Valid after finished(): either model or error is set (neither when cancelled).
  std::shared_ptr<LoadedModel> model;
  QString error;

 signals:
  void progress(int percent, const QString& stage);

 protected:
  void run() override;

 private:
  int id_;
  QString path_;
  LoadFunction load_;
  std::atomic<bool> cancelled_{false};
};

class ModelLoader : public QObject {
  Q_OBJECT
 public:
  explicit ModelLoader(QObject* parent = nullptr);
  // Cancels a running load and waits for its thread (the job stops between stages).
  ~ModelLoader() override;

  // Replaces archscope::load_model_spec (tests use a slow or failing loader).
  void setLoadFunction(ModelLoadJob::LoadFunction load) { load_ = std::move(load); }

  // Starts loading `path`; a load still running is cancelled first. Returns the request id
  // that the signals carry.
  int start(const QString& path);
  void cancel();
  bool busy() const { return current_ != nullptr; }

 signals:
  void progress(int request, int percent, const QString& stage);
  void loaded(int request, std::shared_ptr<LoadedModel> model);
  void failed(int request, const QString& path, const QString& message);
  void cancelled(int request, const QString& path);

 private:
  void finish(ModelLoadJob* job);

  ModelLoadJob::LoadFunction load_;
  ModelLoadJob* current_ = nullptr;
  int next_id_ = 1;
};

}  // namespace archscope::gui
