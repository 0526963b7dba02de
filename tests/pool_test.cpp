#include <dlpool/pool.hpp>

#include <gtest/gtest.h>

namespace {

dlpool::PoolOptions options(int processes = 2) {
  dlpool::PoolOptions o;
  o.processes = processes;
  o.plugin_path = {DLPOOL_TEST_PLUGIN_DIR};
  return o;
}

const dlpool::Task<int(int)> square{"testkit", "square"};

TEST(Smoke, ApplyAndMap) {
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(square, 7), 49);
  EXPECT_EQ(pool.map(square, std::vector{1, 2, 3}), (std::vector{1, 4, 9}));
  pool.close();
  pool.join();
}

}  // namespace
