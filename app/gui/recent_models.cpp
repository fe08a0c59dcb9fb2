#include "recent_models.h"

#include <QFileInfo>
#include <QSettings>

namespace archscope::gui {

namespace {
const char* const kKey = "recent_models";
}  // namespace

RecentModels::RecentModels() {
  QSettings s(QSettings::IniFormat, QSettings::UserScope, "archscope", "archscope");
  paths_ = s.value(kKey).toStringList();
  while (paths_.size() > kMaxEntries) paths_.removeLast();
}

void RecentModels::add(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  paths_.removeAll(absolute);
  paths_.prepend(absolute);
  while (paths_.size() > kMaxEntries) paths_.removeLast();
  save();
}

void RecentModels::remove(const QString& path) {
  paths_.removeAll(QFileInfo(path).absoluteFilePath());
  save();
}

void RecentModels::clear() {
  paths_.clear();
  save();
}

void RecentModels::save() const {
  QSettings s(QSettings::IniFormat, QSettings::UserScope, "archscope", "archscope");
  s.setValue(kKey, paths_);
}

}  // namespace archscope::gui
