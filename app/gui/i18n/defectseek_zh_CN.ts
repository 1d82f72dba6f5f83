<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Actions</name>
    <message>
        <location filename="../actions.py" line="58"/>
        <source>Defect Type {0}</source>
        <translation>缺陷类型 {0}</translation>
    </message>
    <message>
        <location filename="../actions.py" line="69"/>
        <source>&amp;New Project...</source>
        <translation>新建项目(&amp;N)...</translation>
    </message>
    <message>
        <location filename="../actions.py" line="70"/>
        <source>&amp;Open Project...</source>
        <translation>打开项目(&amp;O)...</translation>
    </message>
    <message>
        <location filename="../actions.py" line="72"/>
        <source>&amp;Import Images...</source>
        <translation>导入图像(&amp;I)...</translation>
    </message>
    <message>
        <location filename="../actions.py" line="74"/>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="75"/>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="76"/>
        <source>&amp;Undo</source>
        <translation>撤销(&amp;U)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="77"/>
        <source>&amp;Redo</source>
        <translation>重做(&amp;R)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="81"/>
        <source>&amp;Delete Selected Shapes</source>
        <translation>删除选中的形状(&amp;D)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="85"/>
        <source>&amp;Keyboard Shortcuts...</source>
        <translation>快捷键设置(&amp;K)...</translation>
    </message>
    <message>
        <location filename="../actions.py" line="86"/>
        <source>&amp;Fit to Window</source>
        <translation>适应窗口(&amp;F)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="90"/>
        <source>&amp;Actual Size (1:1)</source>
        <translation>实际大小 1:1(&amp;A)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="94"/>
        <source>Zoom &amp;In</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="95"/>
        <source>Zoom &amp;Out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="96"/>
        <source>&amp;Next Image</source>
        <translation>下一张(&amp;N)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="98"/>
        <source>&amp;Previous Image</source>
        <translation>上一张(&amp;P)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="103"/>
        <source>&amp;Select and Move</source>
        <translation>选择和移动(&amp;S)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="109"/>
        <source>&amp;Rectangle</source>
        <translation>矩形(&amp;R)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="112"/>
        <source>P&amp;olygon</source>
        <translation>多边形(&amp;O)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="114"/>
        <source>&amp;Brush</source>
        <translation>画笔(&amp;B)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="116"/>
        <source>&amp;Eraser</source>
        <translation>橡皮擦(&amp;E)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="119"/>
        <source>Larger Brush</source>
        <translation>增大画笔</translation>
    </message>
    <message>
        <location filename="../actions.py" line="122"/>
        <source>Smaller Brush</source>
        <translation>减小画笔</translation>
    </message>
    <message>
        <location filename="../actions.py" line="124"/>
        <source>Mark &amp;Good</source>
        <translation>标为良品(&amp;G)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="125"/>
        <source>Mark &amp;NG</source>
        <translation>标为不良(&amp;N)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="127"/>
        <source>Mark &amp;Unlabelled</source>
        <translation>标为未标注(&amp;U)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="130"/>
        <source>&amp;About DefectSeek Studio</source>
        <translation>关于 DefectSeek Studio(&amp;A)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="138"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="139"/>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="140"/>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="141"/>
        <source>&amp;Label</source>
        <translation>标注(&amp;L)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="142"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
</context>
<context>
    <name>AssistPanel</name>
    <message>
        <location filename="../widgets/assist_panel.py" line="62"/>
        <source>Model Assist</source>
        <translation>模型辅助标注</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="68"/>
        <source>Propose Mask</source>
        <translation>生成建议掩膜</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="77"/>
        <source> px</source>
        <translation> 像素</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="79"/>
        <source>Accept</source>
        <translation>接受</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="81"/>
        <source>Reject</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="87"/>
        <source>Threshold:</source>
        <translation>阈值：</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="88"/>
        <source>Minimum area:</source>
        <translation>最小面积：</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="118"/>
        <source>The model returned no anomaly map for this image.</source>
        <translation>模型没有为这张图像返回异常图。</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="145"/>
        <source>{0} regions, {1} pixels</source>
        <translation>{0} 个区域，{1} 个像素</translation>
    </message>
</context>
<context>
    <name>CanvasCommands</name>
    <message>
        <location filename="../canvas/commands.py" line="17"/>
        <source>Add rectangle</source>
        <translation>添加矩形</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="19"/>
        <source>Add polygon</source>
        <translation>添加多边形</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="35"/>
        <source>Delete shapes</source>
        <translation>删除形状</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="52"/>
        <source>Move shapes</source>
        <translation>移动形状</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="73"/>
        <source>Set defect type</source>
        <translation>设置缺陷类型</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="127"/>
        <source>Set verdict</source>
        <translation>设置判定</translation>
    </message>
</context>
<context>
    <name>CanvasTools</name>
    <message>
        <location filename="../canvas/tools.py" line="213"/>
        <source>A polygon needs at least 3 points; it was discarded.</source>
        <translation>多边形至少需要 3 个点，已放弃。</translation>
    </message>
    <message>
        <location filename="../canvas/tools.py" line="283"/>
        <source>Erase mask</source>
        <translation>擦除掩膜</translation>
    </message>
    <message>
        <location filename="../canvas/tools.py" line="285"/>
        <source>Paint mask</source>
        <translation>绘制掩膜</translation>
    </message>
</context>
<context>
    <name>ErrorPresenter</name>
    <message>
        <location filename="../errors.py" line="44"/>
        <source>Details were written to the log file: {0}</source>
        <translation>详细信息已写入日志文件：{0}</translation>
    </message>
    <message>
        <location filename="../errors.py" line="49"/>
        <source>DefectSeek Studio</source>
        <translation>DefectSeek Studio</translation>
    </message>
    <message>
        <location filename="../errors.py" line="62"/>
        <source>An unexpected error occurred; the last action may not have finished.</source>
        <translation>发生意外错误，上一个操作可能没有完成。</translation>
    </message>
</context>
<context>
    <name>ImageBrowser</name>
    <message>
        <location filename="../widgets/image_browser.py" line="139"/>
        <source>{0} of {1} images</source>
        <translation>显示 {0} / 共 {1} 张图像</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="217"/>
        <source>All images ({0})</source>
        <translation>全部图像 ({0})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="218"/>
        <source>Unlabelled ({0})</source>
        <translation>未标注 ({0})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="219"/>
        <source>Good ({0})</source>
        <translation>良品 ({0})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="220"/>
        <source>NG ({0})</source>
        <translation>不良 ({0})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="222"/>
        <source>Type: {0} ({1})</source>
        <translation>类型：{0} ({1})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="228"/>
        <source>All splits</source>
        <translation>全部数据集划分</translation>
    </message>
</context>
<context>
    <name>LabelPage</name>
    <message>
        <location filename="../pages/label_page.py" line="80"/>
        <source>Could not open image {0}.</source>
        <translation>无法打开图像 {0}。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="84"/>
        <source>The label of {0} is for a {1}x{2} image, but the image file is {3}x{4}.</source>
        <translation>{0} 的标注对应 {1}x{2} 的图像，但图像文件是 {3}x{4}。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="88"/>
        <source>The image file was replaced; restore the original file or remove and re-import the image.</source>
        <translation>图像文件已被替换。请恢复原文件，或者删除该图像后重新导入。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="106"/>
        <source>The label of {0} was not saved because it changed on disk.</source>
        <translation>{0} 的标注未保存，因为磁盘上的文件已被修改。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="108"/>
        <source>Copy your changes, reopen the image to load the other version, and apply them again.</source>
        <translation>请记下您的修改，重新打开图像以加载另一版本，然后再次应用修改。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="112"/>
        <source>Could not save the label of {0}.</source>
        <translation>无法保存 {0} 的标注。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="116"/>
        <source>Saved {0}</source>
        <translation>已保存 {0}</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="155"/>
        <source>Unsaved Changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="156"/>
        <source>The label of {0} could not be saved. Close anyway and lose the changes?</source>
        <translation>{0} 的标注无法保存。仍然关闭并放弃这些修改吗？</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="298"/>
        <source>This is the last image of the list.</source>
        <translation>已经是列表中的最后一张图像。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="300"/>
        <source>This is the first image of the list.</source>
        <translation>已经是列表中的第一张图像。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="321"/>
        <source>The project has no defect type {0}.</source>
        <translation>项目中没有第 {0} 个缺陷类型。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="334"/>
        <source>Set defect type</source>
        <translation>设置缺陷类型</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="358"/>
        <location filename="../pages/label_page.py" line="359"/>
        <source>Accept proposal</source>
        <translation>接受建议</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="383"/>
        <source>{0} ({1}x{2}, {3}-bit)</source>
        <translation>{0}（{1}x{2}，{3} 位）</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="387"/>
        <source>zoom {0:.0f}%</source>
        <translation>缩放 {0:.0f}%</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="391"/>
        <source>x {0}, y {1}: {2}</source>
        <translation>x {0}，y {1}：{2}</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="393"/>
        <source>unsaved changes</source>
        <translation>有未保存的修改</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="419"/>
        <source>Defect Type {0}: {1}</source>
        <translation>缺陷类型 {0}：{1}</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="421"/>
        <source>Defect Type {0}</source>
        <translation>缺陷类型 {0}</translation>
    </message>
</context>
<context>
    <name>LabelPanel</name>
    <message>
        <location filename="../widgets/label_panel.py" line="59"/>
        <source>Unlabelled</source>
        <translation>未标注</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="60"/>
        <source>Good</source>
        <translation>良品</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="61"/>
        <source>NG</source>
        <translation>不良</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="82"/>
        <source>Image</source>
        <translation>图像</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="85"/>
        <source>Defect type:</source>
        <translation>缺陷类型：</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="86"/>
        <source>Split:</source>
        <translation>数据集划分：</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="94"/>
        <source> px</source>
        <translation> 像素</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="100"/>
        <source>Drawing</source>
        <translation>绘制</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="102"/>
        <source>Brush size:</source>
        <translation>画笔大小：</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="103"/>
        <source>Mask opacity:</source>
        <translation>掩膜不透明度：</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="44"/>
        <source>Display</source>
        <translation>显示</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="123"/>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="44"/>
        <location filename="../main_window.py" line="123"/>
        <source>DefectSeek Studio</source>
        <translation>DefectSeek Studio</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="122"/>
        <source>No project open</source>
        <translation>未打开项目</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="125"/>
        <source>Project: {0}</source>
        <translation>项目：{0}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="126"/>
        <source>{0} - DefectSeek Studio</source>
        <translation>{0} - DefectSeek Studio</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="144"/>
        <source>About DefectSeek Studio</source>
        <translation>关于 DefectSeek Studio</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="145"/>
        <source>DefectSeek Studio: label images, train from good images, and inspect parts on the line.</source>
        <translation>DefectSeek Studio：标注图像，用良品图像训练模型，并在产线上检测零件。</translation>
    </message>
</context>
<context>
    <name>NewProjectDialog</name>
    <message>
        <location filename="../pages/project_page.py" line="40"/>
        <source>New Project</source>
        <translation>新建项目</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="42"/>
        <source>Browse...</source>
        <translation>浏览...</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="49"/>
        <source>scratch, dent, stain</source>
        <translation>划痕, 凹坑, 污渍</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="51"/>
        <source>Folder:</source>
        <translation>文件夹：</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="52"/>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="53"/>
        <source>Defect types (comma-separated):</source>
        <translation>缺陷类型（用逗号分隔）：</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="65"/>
        <source>Choose an empty folder for the project</source>
        <translation>为项目选择一个空文件夹</translation>
    </message>
</context>
<context>
    <name>Pages</name>
    <message>
        <location filename="../pages/__init__.py" line="63"/>
        <source>Project</source>
        <translation>项目</translation>
    </message>
    <message>
        <location filename="../pages/__init__.py" line="65"/>
        <source>Label</source>
        <translation>标注</translation>
    </message>
</context>
<context>
    <name>ProjectPage</name>
    <message>
        <location filename="../pages/project_page.py" line="85"/>
        <source>Group</source>
        <translation>分组</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="85"/>
        <source>Images</source>
        <translation>图像数</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="112"/>
        <source>Could not create the project in {0}.</source>
        <translation>无法在 {0} 中创建项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="125"/>
        <source>Could not open the project in {0}.</source>
        <translation>无法打开 {0} 中的项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="127"/>
        <source>Choose a folder that contains project.json, or create a new project.</source>
        <translation>请选择包含 project.json 的文件夹，或者新建一个项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="136"/>
        <location filename="../pages/project_page.py" line="198"/>
        <source>No project is open.</source>
        <translation>没有打开的项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="136"/>
        <location filename="../pages/project_page.py" line="198"/>
        <source>Create or open a project first.</source>
        <translation>请先新建或打开一个项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="141"/>
        <source>Could not import the images.</source>
        <translation>无法导入图像。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="143"/>
        <source>Imported {0} images; skipped {1}.</source>
        <translation>已导入 {0} 张图像，跳过 {1} 张。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="154"/>
        <source>No project is open. Create a new project or open an existing one.</source>
        <translation>没有打开的项目。请新建项目或打开已有项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="158"/>
        <source>Project: {0}</source>
        <translation>项目：{0}</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="159"/>
        <source>Folder: {0}</source>
        <translation>文件夹：{0}</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="160"/>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="161"/>
        <source>Defect types: {0}</source>
        <translation>缺陷类型：{0}</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="165"/>
        <source>All images</source>
        <translation>全部图像</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="167"/>
        <source>By verdict</source>
        <translation>按判定</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="169"/>
        <source>Unlabelled</source>
        <translation>未标注</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="170"/>
        <source>Good</source>
        <translation>良品</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="171"/>
        <source>NG</source>
        <translation>不良</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="174"/>
        <source>By defect type</source>
        <translation>按缺陷类型</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="177"/>
        <source>By split</source>
        <translation>按数据集划分</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="192"/>
        <source>Open Project Folder</source>
        <translation>打开项目文件夹</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="200"/>
        <source>Choose a Folder of Images</source>
        <translation>选择图像文件夹</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="205"/>
        <source>Import Images</source>
        <translation>导入图像</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="206"/>
        <source>Copy the images into the project folder? Choose No to reference them where they are.</source>
        <translation>是否将图像复制到项目文件夹中？选择“否”则在原位置引用图像。</translation>
    </message>
</context>
<context>
    <name>ShortcutDialog</name>
    <message>
        <location filename="../shortcut_dialog.py" line="24"/>
        <source>Keyboard Shortcuts</source>
        <translation>快捷键设置</translation>
    </message>
    <message>
        <location filename="../shortcut_dialog.py" line="28"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../shortcut_dialog.py" line="28"/>
        <source>Shortcut</source>
        <translation>快捷键</translation>
    </message>
</context>
<context>
    <name>Splits</name>
    <message>
        <location filename="../pages/project_page.py" line="214"/>
        <source>No split</source>
        <translation>未划分</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="215"/>
        <source>Train</source>
        <translation>训练集</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="216"/>
        <source>Validation</source>
        <translation>验证集</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="217"/>
        <source>Test</source>
        <translation>测试集</translation>
    </message>
</context>
<context>
    <name>WindowLevelWidget</name>
    <message>
        <location filename="../widgets/window_level.py" line="27"/>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../widgets/window_level.py" line="28"/>
        <source>Reset</source>
        <translation>重置</translation>
    </message>
    <message>
        <location filename="../widgets/window_level.py" line="34"/>
        <source>Brightness (level):</source>
        <translation>亮度（窗位）：</translation>
    </message>
    <message>
        <location filename="../widgets/window_level.py" line="35"/>
        <source>Contrast (window):</source>
        <translation>对比度（窗宽）：</translation>
    </message>
</context>
</TS>
