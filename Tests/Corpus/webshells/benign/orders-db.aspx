<%@ Page Language="C#" %>
<%@ Import Namespace="System.Data.SqlClient" %>
<script runat="server">
void Page_Load(object s, EventArgs e) {
  var cs = System.Configuration.ConfigurationManager.ConnectionStrings["orders"].ConnectionString;
  using (var c = new SqlConnection(cs)) {
    c.Open();
    var cmd = new SqlCommand("SELECT Id, Total FROM Orders WHERE Customer = @c", c);
    cmd.Parameters.AddWithValue("@c", Request.QueryString["customer"]);
    grid.DataSource = cmd.ExecuteReader(); grid.DataBind();
  }
}
</script>
<asp:GridView id="grid" runat="server"/>
