"""The demo's sample data: Japanese companies, people, channels, touches and sales notes."""

from leadcycle.domain.stages import LossReason

HISTORY_DAYS = 182
MARKETING, SALES_OPS = "marketing-automation", "sales-ops"
SOURCES = {"web_ad": 24, "seo": 20, "webinar": 14, "exhibition": 12, "email_campaign": 12, "referral": 10, "partner": 8}

# (name, romaji for e-mail domains)
STEMS = (("さくら", "sakura"), ("富士見", "fujimi"), ("大和", "yamato"), ("ひかり", "hikari"), ("青葉", "aoba"),
         ("北斗", "hokuto"), ("日の出", "hinode"), ("みなと", "minato"), ("東雲", "shinonome"),
         ("若葉", "wakaba"), ("白鷺", "shirasagi"), ("瀬戸内", "setouchi"), ("千早", "chihaya"), ("葵", "aoi"),
         ("常盤", "tokiwa"))  # fmt: skip
# (trade, romaji, industry)
TRADES = (("商事", "shoji", "卸売業"), ("電機", "denki", "電気機器"), ("精機", "seiki", "機械"),
          ("システムズ", "systems", "情報通信業"), ("物流", "logistics", "運輸業"), ("フーズ", "foods", "食料品"),
          ("製薬", "pharma", "医薬品"), ("建設", "kensetsu", "建設業"), ("化学", "kagaku", "化学"),
          ("ソリューションズ", "solutions", "情報通信業"), ("不動産", "fudosan", "不動産業"))  # fmt: skip
# (weight, employees, capital in JPY); enterprises often pass 1,000 employees and 50 billion JPY
SIZES = ((45, (8, 299), (10_000_000, 300_000_000)), (30, (300, 999), (300_000_000, 10_000_000_000)),
         (25, (1_000, 30_000), (10_000_000_000, 200_000_000_000)))  # fmt: skip
SURNAMES = (("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"), ("伊藤", "ito"),
            ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"), ("小林", "kobayashi"),
            ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"), ("松本", "matsumoto"), ("井上", "inoue"),
            ("木村", "kimura"))  # fmt: skip
GIVEN_NAMES = (("健太", "kenta"), ("翔", "sho"), ("大輔", "daisuke"), ("美咲", "misaki"), ("陽子", "yoko"),
               ("直樹", "naoki"), ("彩", "aya"), ("拓也", "takuya"), ("恵", "megumi"), ("誠", "makoto"),
               ("由美", "yumi"), ("亮", "ryo"))  # fmt: skip
DEPARTMENTS = ("情報システム部", "営業企画部", "マーケティング部", "経営企画部", "総務部", "DX推進室", "製造部")
TITLES = (("代表取締役", True), ("取締役", True), ("部長", True), ("課長", False), ("係長", False), ("主任", False))
PHONE_AREAS = ("03", "06", "045", "052", "092", "011")
ENTERPRISE_TEAM = ("エンタープライズ営業部", ("高橋 誠", "中村 彩"))
TEAMS = (("東日本営業部", ("佐藤 翔", "伊藤 恵")), ("西日本営業部", ("山本 大輔", "吉田 美咲")))

Touch = tuple[str, dict[str, str]]
LIGHT: tuple[Touch, ...] = (("email_open", {"campaign": "monthly_newsletter"}), ("web_visit", {"path": "/"}),
         ("web_visit", {"path": "/case-studies"}), ("email_click", {"campaign": "product_update"}),
         ("survey_answer", {"intent": "researching"}))  # fmt: skip
INTEREST: tuple[Touch, ...] = (("pricing_page_view", {"path": "/pricing"}),
            ("document_download", {"document": "導入事例集"}),
            ("webinar_attended", {"webinar": "営業DX入門"}))  # fmt: skip
ENGAGEMENT: tuple[Touch, ...] = (*INTEREST, ("inquiry", {"topic": "他システムとの連携"}),
              ("webinar_attended", {"webinar": "MA活用セミナー"}), ("inquiry", {"topic": "導入費用"}))  # fmt: skip
HOT_SIGNALS: tuple[Touch, ...] = (("quote_request", {}), ("demo_request", {}), ("trial_signup", {"plan": "standard"}),
               ("consultation_request", {}), ("survey_answer", {"intent": "buy_now"}))  # fmt: skip

BUDGET_NOTES = ("今期予算で確保済み", "来期予算に計上予定、稟議中", "部門予算の範囲内")
NEED_NOTES = ("営業管理の属人化を解消したい", "展示会リードの取りこぼしを減らしたい", "MAとSFAを連携したい")
AUTHORITY_NOTES = ("部長決裁、役員同席で商談済み", "情報システム部長が最終決裁者")
TIMEFRAME_NOTES = ("来期初めに稼働させたい", "年度内に導入を完了したい")
REJECT_REASONS = ("学生による資料請求", "既存顧客からのサポート問い合わせ", "競合企業による情報収集")
RECYCLE_REASONS = ("予算凍結のため来期に再検討", "担当者が異動、後任と関係構築から", "時期尚早: 導入は来年度以降")
LOSSES = ((LossReason.COMPETITOR, "競合他社に価格で敗退"), (LossReason.BUDGET, "予算が承認されなかった"),
          (LossReason.TIMING, "導入時期が未定に"), (LossReason.NO_DECISION, "社内で結論が出ず"),
          (LossReason.NO_NEED, "要件が合わなかった"))  # fmt: skip
